"""The shell in a real Chromium: sign in, the Chinese home page, the switch to English."""
import pytest

pytestmark = pytest.mark.e2e


def test_staff_signs_in_sees_chinese_home_and_switches_to_english(pages):
    page = pages.open()
    page.goto("/")
    assert "/auth/login" in page.url
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.fill("input[name=username]", "staff-ls-c")
    page.fill("input[name=password]", "wrong-password")
    page.click("#login-form button[type=submit]")
    assert page.locator("#password-error").inner_text() == "用户名或密码错误。"
    page.fill("input[name=password]", "demo2026")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(pages.base_url + "/")
    assert "您好" in page.locator("h1").inner_text()
    assert page.locator("text=窗口人员").first.is_visible()
    page.click("button:has-text('English')")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text().startswith("Hello")
    assert page.locator("text=Station staff").first.is_visible()


def test_phone_layout_keeps_the_navigation_without_sideways_scroll(pages):
    from tests.e2e.conftest import PHONE

    page = pages.open(viewport=PHONE, username="admin")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    page.click("nav >> text=目录管理")
    page.wait_for_url("**/directory/")
    assert page.locator("h1").inner_text() == "目录管理"
