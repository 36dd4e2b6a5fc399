"""The DCAT-AP 3.0.1 catalogue: a door onto iCity's catalogue for the portals that harvest it."""
