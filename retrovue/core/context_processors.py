from __future__ import annotations


def staff_notices(request) -> dict:
    """Open staff notices for the admin banner; one cheap query, staff pages only."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_staff and request.path.startswith("/admin/")):
        return {}
    from retrovue.core.notices import open_notices

    return {"staff_notices": list(open_notices()[:5])}
