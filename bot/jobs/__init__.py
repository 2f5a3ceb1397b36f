"""Jobs that run on a timer, outside any turn: retention, outreach."""
