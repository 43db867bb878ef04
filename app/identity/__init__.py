"""Who is calling: bearer token verification, principals, role guards."""
