"""POST /api/v1/testing/clock: moves time in tests; absent unless it is enabled."""

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api import extension
from service.auth import require_role
from service.schemas import ClockSchema, ClockStateSchema
from workflows.clock import clock

blp = Blueprint(
    "testing",
    __name__,
    url_prefix="/api/v1/testing",
    description="Test clock (only with SUISHOUPAI_TEST_CLOCK=1)",
)


@blp.route("/clock")
class TestClock(MethodView):
    @blp.arguments(ClockSchema)
    @blp.response(200, ClockStateSchema)
    def post(self, body):
        """Move the clock forward and run the timer sweep once (admins only)"""
        require_role("admin")
        now = clock.advance(body["advance_seconds"])
        advanced = extension("sweeps").run(now)
        extension("outbox").deliver()
        return {"now": now, "cases_advanced": advanced}
