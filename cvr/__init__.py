"""Real election data in and out: vendor cast vote records (CVRs), RCTab configurations, NIST results.

I/O lives here, never in `counting/`: readers stream each CVR into the engine's ballots, and the
writers render the engine's results in formats that other tools read.
"""
