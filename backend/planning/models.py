"""The crisis capacity planner stores nothing: it reads the occupancy feed, the register and the
region settings (its target is ``crisis_loss_target``) and answers with figures. Who may read
it is decided here."""

from __future__ import annotations

from backend.users.models import Role

# The region's contract manager is the viewer role ("contractmanager" in the app); the region's
# coordinator and administrator read it too, as they read the post-calculation. See service.py.
PLANNER_ROLES = (Role.admin, Role.coordinator, Role.viewer)
