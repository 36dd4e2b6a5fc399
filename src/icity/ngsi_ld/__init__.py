"""The NGSI-LD API (ETSI GS CIM 009): a door onto iCity's services."""
