"""HTTP plumbing shared by the channels and the staff console: ops routes, dependencies, models, headers."""
