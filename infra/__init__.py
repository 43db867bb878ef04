"""Infrastructure: the private database cluster; container and deployment files."""
