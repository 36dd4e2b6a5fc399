"""Entity identifiers, shared by everything that makes entities (store, mapping, demo)."""


def entity_urn(entity_type: str, city_id: str, local_id: str) -> str:
    """NGSI-LD id of a harmonised entity: urn:ngsi-ld:<Type>:<city>:<local id>."""
    return f"urn:ngsi-ld:{entity_type}:{city_id}:{local_id}"
