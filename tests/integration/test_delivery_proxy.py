"""Uploads through a school's HTTP proxy: CONNECT with Basic authentication (connectproxy.py in
the box's namespace), configured by central.proxy, and separately by the https_proxy and
HTTPS_PROXY environment variables. Batches must arrive through the tunnel; wrong proxy
credentials must show up in `status` as a proxy problem while the agent keeps caching, and
everything cached then arrives once the credentials are right.
"""

from __future__ import annotations

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deliverylib as dl  # noqa: E402

USER, PASSWORD = "school-box", "corr3ct horse"
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
              "ALL_PROXY", "no_proxy", "NO_PROXY")


class ThroughAProxy(dl.DeliveryTestCase):

    def setUp(self):
        super().setUp()
        for var in PROXY_VARS:  # only what each test sets
            os.environ.pop(var, None)
        self.proxy = dl.ConnectProxy(self.ds, USER, PASSWORD)
        addr = self.ds.info["central"]["address"]
        self.target = f"{addr}:{self.ds.info['central']['port']}"

    def deliver_through_proxy(self, config: str, env: dict | None = None):
        ds = self.ds
        agent = ds.start_agent(config, env=env)
        with dl.stopped_on_exit(ds, agent):
            dl.wait_for(lambda: ds.counter(config, "acked") >= 20, 30,
                        what="batches acknowledged through the proxy")
            self.assertEqual(ds.stop_agent(agent), 0)
        st = ds.status(config)
        dl.assert_balanced(self, st)
        dl.assert_central_holds_exactly_the_acked(self, ds, st)
        tunnels = [e for e in self.proxy.log() if e["result"] == "tunnel"]
        self.assertTrue(tunnels, "no CONNECT reached the proxy")
        self.assertEqual({e["target"] for e in tunnels}, {self.target})
        self.assertEqual({e["user"] for e in tunnels}, {USER})

    def test_central_proxy_in_the_config(self):
        config = self.ds.config("agent", central={"proxy": self.proxy.url(USER, PASSWORD)})
        self.deliver_through_proxy(config)

    def test_https_proxy_from_the_environment(self):
        self.deliver_through_proxy(self.ds.config("agent"),
                                   {"https_proxy": self.proxy.url(USER, PASSWORD)})

    def test_HTTPS_PROXY_from_the_environment(self):
        self.deliver_through_proxy(self.ds.config("agent"),
                                   {"HTTPS_PROXY": self.proxy.url(USER, PASSWORD)})

    def test_wrong_proxy_credentials_show_in_status_and_nothing_is_lost(self):
        ds = self.ds
        wrong = ds.config("wrong", central={"proxy": self.proxy.url(USER, "wrong")},
                          store={"path": ds.path("agent.db")})
        agent = ds.start_agent(wrong, "agent-wrong")
        with dl.stopped_on_exit(ds, agent):
            dl.wait_for(lambda: [e for e in self.proxy.log() if e["result"] == "407"], 30,
                        what="the proxy to refuse a CONNECT")
            st = dl.wait_for(lambda: (lambda s: s if s["last_upload_error"] else None)(
                ds.status(wrong)), 15, what="an upload error in status")
            self.assertTrue(st["last_upload_error"].startswith("proxy"), st)
            self.assertIn("407", st["last_upload_error"])
            self.assertNotIn("wrong", st["last_upload_error"], "the password leaked into status")
            self.assertTrue(st["upload_problem"].startswith("proxy"), st)
            self.assertIn("proxy", ds.status_text(wrong))
            self.assertEqual(st["counters"]["acked"], 0)
            self.assertGreater(st["backlog"]["records"], 0, "the agent stopped caching")
            dl.assert_balanced(self, st)
            self.assertEqual(ds.stop_agent(agent), 0)
        self.assertIsNone(ds.central_agent())
        cached = ds.status(wrong)["counters"]["produced"]

        right = ds.config("right", central={"proxy": self.proxy.url(USER, PASSWORD)},
                          store={"path": ds.path("agent.db")})
        agent = ds.start_agent(right, "agent-right")
        with dl.stopped_on_exit(ds, agent):
            dl.wait_for(lambda: ds.status(right)["counters"]["acked"] >= cached, 30,
                        what="the cached records to arrive once the credentials are right")
            self.assertEqual(ds.stop_agent(agent), 0)
        st = ds.status(right)
        dl.assert_balanced(self, st)
        self.assertEqual(st["upload_problem"], "")
        audit, _ = dl.assert_central_holds_exactly_the_acked(self, ds, st)
        self.assertEqual(audit["gaps"], [])
        self.assertEqual((audit["first_id"], audit["last_id"]), (1, st["counters"]["acked"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
