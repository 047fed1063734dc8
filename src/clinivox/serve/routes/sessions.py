"""Stored sessions: each belongs to the key that opened it (an admin key sees all)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response

from clinivox.serve.db import Owner
from clinivox.serve.state import AppState, get_state, principal

router = APIRouter(prefix="/v1/sessions")


@router.get("")
async def sessions(limit: int = 50, state: AppState = Depends(get_state),
                   p: Owner = Depends(principal)):
    """The caller's sessions, newest first (every key's for an admin key)."""
    limit = max(1, min(limit, 500))
    data = await state.run(state.store.list_sessions, p, limit)
    await state.run(state.store.audit, p.key_id, "sessions.list", None)
    return {"data": data}


@router.get("/{session_id}")
async def session(session_id: str, state: AppState = Depends(get_state),
                  p: Owner = Depends(principal)):
    found = await state.run(state.store.get_session, session_id, p)
    await state.run(state.store.audit, p.key_id, "session.read", session_id[:64],
                    404 if found is None else 200)
    if found is None:  # another key's session is not found either
        raise HTTPException(404, "no such session")
    return found


@router.delete("/{session_id}")
async def delete_session(session_id: str, state: AppState = Depends(get_state),
                         p: Owner = Depends(principal)):
    deleted = await state.run(state.store.delete_session, session_id, p)
    if deleted and state.audio is not None:  # its kept audio goes with it
        await state.run(state.audio.delete, session_id)
    await state.run(state.store.audit, p.key_id, "session.delete", session_id[:64],
                    200 if deleted else 404)
    if not deleted:
        raise HTTPException(404, "no such session")
    return {"id": session_id, "deleted": True}


@router.get("/{session_id}/audio")
async def session_audio(session_id: str, state: AppState = Depends(get_state),
                        p: Owner = Depends(principal)):
    """The session's kept audio (WAV), for its owner while the retention period lasts."""
    wav = None
    if state.audio is not None and \
            await state.run(state.store.can_see_session, session_id, p):
        wav = await state.run(state.audio.read_wav, session_id)
    await state.run(state.store.audit, p.key_id, "session.audio", session_id[:64],
                    404 if wav is None else 200)
    if wav is None:
        raise HTTPException(404, "no audio kept for this session")
    return Response(wav, media_type="audio/wav")
