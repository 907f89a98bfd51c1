"""Findings of the maintainer's review of the call flow, each pinned by a test."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from voiceline.calls.twilio_side import sign

from .conftest import params


def test_mounted_under_a_path_prefix_signatures_and_links_agree(hotline):
    """VOICELINE_PUBLIC_URL names the app's root as Twilio reaches it, prefix included (the jobs
    area builds its URLs the same way). Whether or not the WSGI server also sets SCRIPT_NAME,
    the signature is checked against that URL and every emitted link carries the prefix once."""
    hotline.config["PUBLIC_URL"] = "https://hotline.example.org/hotline"
    client = hotline.test_client()
    url = "https://hotline.example.org/hotline/voice/incoming"
    for n, base in enumerate(("http://localhost/hotline", "http://localhost")):
        body = params(f"CAprefix{n}")
        response = client.post("/voice/incoming", data=body, base_url=base,
                               headers={"X-Twilio-Signature": sign("test-auth-token", url, body)})
        assert response.status_code == 200, base
        gather = ET.fromstring(response.get_data(as_text=True)).find("Gather")
        assert gather.get("action") == "https://hotline.example.org/hotline/voice/pin?attempt=1", base
