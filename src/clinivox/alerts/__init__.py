"""Critical-alert monitor: detects critical phrases in streaming hypotheses."""

from clinivox.alerts.categories import Category, builtin_categories, load_categories
from clinivox.alerts.monitor import Alert, AlertMonitor, AlertOptions

__all__ = ["Alert", "AlertMonitor", "AlertOptions", "Category", "builtin_categories",
           "load_categories"]
