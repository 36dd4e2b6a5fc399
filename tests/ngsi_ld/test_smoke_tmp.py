def test_smoke(api):
    r = api.get("/ngsi-ld/v1/entities?type=AirQualityObserved&limit=2&count=true")
    print(r.status_code, r.headers, r.text[:1500])
    r = api.get("/ngsi-ld/v1/entities?type=AirQualityObserved&limit=2&options=keyValues", headers={"Accept": "application/ld+json"})
    print(r.status_code, r.text[:800])
    r = api.get("/ngsi-ld/v1/types/")
    print(r.status_code, r.text[:800])
    r = api.get("/ngsi-ld/v1/entities")
    print(r.status_code, r.text[:800])
    r = api.get("/ngsi-ld/v1/attributes?details=true")
    print(r.status_code, r.text[:600])
    assert 0
