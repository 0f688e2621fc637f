import pytest
from tests.e2e.conftest import log_in_member
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
def test_dbg(sized_page, live_server, member, logs_3000):
    page = sized_page
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/exports/new/?ai_model=gpt-4o&status_code=200&cost_min=abc&metadata=x")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=f"/tmp/h17_req_{page.size}.png", full_page=page.size == "1366")
