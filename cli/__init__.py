"""The `tally` command-line tool."""
