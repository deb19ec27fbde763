"""The replica model on one machine: nginx (Debian package) in front of three `tapwork api`
processes and two `tapwork worker` processes, on one PostgreSQL database.

nginx is configured like the Kubernetes ingress (ingress-nginx's defaults): HTTP/1.1 with
keep-alive to the upstreams, `X-Forwarded-*` headers, the body limit, and a retry on the next
upstream when one cannot be reached; the scan endpoint may also be retried after it was sent
(`non_idempotent`), which is safe because a scan is idempotent by its client scan id. A rolling
restart replaces one API process at a time: SIGTERM (it drains, see kit/lifecycle.py), then a
new process on the same port, ready before the next one goes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tapwork.devstack.embedded_pg import free_port

TAPWORK = str(Path(sys.executable).with_name("tapwork"))
START_TIMEOUT = 120.0

NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 5m;
    upstream tapwork_api {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_connect_timeout 5s;
        proxy_read_timeout 60s;
        proxy_next_upstream error timeout http_502 http_503;
        proxy_next_upstream_tries 3;
        location / {{
            proxy_pass http://tapwork_api;
        }}
        location = /api/v1/attendance {{
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_pass http://tapwork_api;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        raise RuntimeError("nginx is not installed (./dev test installs the Debian package)")
    return found


def _wait_ready(url: str, within: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} not ready")
        time.sleep(0.2)


@dataclass
class Stack:
    env: dict[str, str]
    workdir: Path
    api_ports: list[int] = field(default_factory=list)
    apis: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    down: set[int] = field(default_factory=set)
    nginx_port: int = 0
    nginx: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    def _log(self, name: str) -> int:
        return os.open(self.workdir / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def start_api(self, port: int) -> None:
        out = self._log(f"api-{port}")
        self.apis[port] = subprocess.Popen(
            [TAPWORK, "api", "--host", "127.0.0.1", "--port", str(port), "--metrics-port", "0"],
            env=self.env, stdout=out, stderr=out,
        )  # fmt: skip
        os.close(out)

    def start_worker(self, n: int) -> None:
        out = self._log(f"worker-{n}")
        command = [TAPWORK, "worker", "--concurrency", "2", "--metrics-port", "0"]
        self.workers.append(subprocess.Popen(command, env=self.env, stdout=out, stderr=out))
        os.close(out)

    def write_nginx_conf(self) -> Path:
        servers = "\n".join(
            f"        server 127.0.0.1:{p}{' down' if p in self.down else ''} max_fails=0;"
            for p in self.api_ports
        )
        conf = self.workdir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.workdir, servers=servers, port=self.nginx_port))
        return conf

    def start(self, apis: int = 3, workers: int = 2) -> None:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.workdir / sub).mkdir(exist_ok=True)
        self.workdir.chmod(0o777)
        self.api_ports = [free_port() for _ in range(apis)]
        self.nginx_port = free_port()
        for port in self.api_ports:
            self.start_api(port)
        for n in range(workers):
            self.start_worker(n)
        conf = self.write_nginx_conf()
        self.nginx = subprocess.Popen(
            [nginx_binary(), "-c", str(conf), "-e", str(self.workdir / "error.log"),
             "-g", "daemon off;"],
        )  # fmt: skip
        for port in self.api_ports:
            _wait_ready(f"http://127.0.0.1:{port}/ready")
        _wait_ready(f"{self.url}/ready", within=30)

    def reload_nginx(self) -> None:
        conf = self.write_nginx_conf()
        errors = str(self.workdir / "error.log")
        subprocess.run([nginx_binary(), "-c", str(conf), "-e", errors, "-s", "reload"], check=True)
        time.sleep(0.5)  # the new workers take over; the old ones finish what they hold

    def restart_api(self, port: int) -> float:
        """Stop one API process gracefully (SIGTERM) and start its replacement on the same
        port; returns the seconds until the new one is ready. nginx's configuration is not
        touched (a reload closes clients' idle keep-alive connections, which a client may be
        reusing at that instant): while the old process drains it still answers; once its
        socket is closed, nginx gets "connection refused" and passes the request to the next
        upstream, and the scan location may also retry a request that was already sent."""
        started = time.monotonic()
        old = self.apis[port]
        old.send_signal(signal.SIGTERM)
        old.wait(timeout=90)
        self.start_api(port)
        _wait_ready(f"http://127.0.0.1:{port}/ready")
        return time.monotonic() - started

    def stop(self) -> None:
        procs = [*self.apis.values(), *self.workers]
        if self.nginx is not None:
            procs.append(self.nginx)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
