"""Service areas: coordinators' polygons, their coverage summaries and gap alerts."""
