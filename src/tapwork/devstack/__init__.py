"""The local development stack behind `tapwork up` and `tapwork seed-demo`; not the product.

    stack.py        the supervisor: start order, readiness, banner, orderly stop
    processes.py    ports, the data dir's generated secrets, child processes
    embedded_pg.py  PostgreSQL from the `pgserver` wheel's binaries
    mailcatcher.py  an SMTP server (aiosmtpd) with a web inbox
    frontend.py     builds the front ends when stale and serves them on port 3000
    demo.py         the demo organisation

Its dependencies (`pgserver`, `aiosmtpd`) are the `devstack` extra, which `./dev up` and
`./dev test` install; a production install leaves them out. Nothing in `tapwork` imports this
package except the CLI commands that start it (import-linter enforces it).
"""
