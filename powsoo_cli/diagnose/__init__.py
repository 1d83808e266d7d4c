"""``powsoo diagnose``: why a widget fails on a site, and how to fix it.

The package is a set of small checks that each look at one link of the chain
a browser walks (spec §11), a runner that schedules them, a verdict that
reads their results together, and writers for machine-readable reports:

    base.py        the shared vocabulary: targets, answers, check results
    reach.py       the API answers at all (name lookup, connect, TLS, probe)
    config.py      the embed config from the page origin and from localhost
    origin_rules.py  why the origin does or does not pass the allowlist
    mint.py        voice-token mints and the sanity of the minted token
    stream.py      the event stream: ready, then a heartbeat
    session.py     the results endpoint accepts the session token
    cors.py        preflights and the CORS headers of real answers
    page.py        the page: embed, Content-Security-Policy, microphone,
                   secure context (csp.py holds the policy matching)
    runner.py      the dependency-ordered, concurrent schedule
    verdict.py     from check results to ranked causes
    json_report.py, junit.py, github.py   report writers
    batch.py       many widgets from a file, sharded for CI matrices
"""
