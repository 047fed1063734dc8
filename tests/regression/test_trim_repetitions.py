"""Found by hypothesis: the trimmer cut at the first 1-gram run and kept an earlier 2-gram
loop ([1, 0, 1, 0, 0] with one repeat allowed kept [1, 0, 1, 0])."""

from clinivox.asr.guards import trim_repetitions


def test_longer_loop_ending_first_decides_the_cut():
    assert trim_repetitions([1, 0, 1, 0, 0], 1) == [1, 0]
    assert trim_repetitions([5, 6, 7, 5, 6, 7, 5, 6, 7, 9, 9, 9], 2) == [5, 6, 7, 5, 6, 7]
