def test_network_builds_and_serves(api):
    assert api.get("/api/v1/cities").status_code == 200
