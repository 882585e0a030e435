// Tests of what the example host grants the component, without the component.

import assert from "node:assert/strict";
import { test } from "node:test";

import { allowedOrigins, authorityOrigin, grantedEnvironment, requestOrigin, restrictOutgoingHandler } from "./policy.mjs";

/** Returns a stand-in for the shim's outgoing-request resource. */
function fakeRequest(scheme, authority) {
    return { scheme: () => scheme, authority: () => authority };
}

/** Returns a stand-in for the shim's outgoing-handler that records what it sends. */
function fakeHandler() {
    const sent = [];
    return { sent, handle: (request) => (sent.push(request), "future-response") };
}

test("environment keeps only method variables", () => {
    const granted = grantedEnvironment({
        AZURE_CLIENT_ID: "client",
        AZURE_AUTHORITY_HOST: "http://127.0.0.1:1",
        HOME: "/root",
        PATH: "/usr/bin",
        AWS_SECRET_ACCESS_KEY: "not for the component",
    });
    assert.deepEqual(granted, { AZURE_CLIENT_ID: "client", AZURE_AUTHORITY_HOST: "http://127.0.0.1:1" });
});

test("environment keeps empty values", () => {
    // The env method reports a set-but-empty variable by name, so it must see it.
    assert.deepEqual(grantedEnvironment({ AZURE_CLIENT_SECRET: "" }), { AZURE_CLIENT_SECRET: "" });
});

test("origins from explicit authority hosts", () => {
    const origins = allowedOrigins({ "authority-host": "http://127.0.0.1:8080/" }, { AZURE_AUTHORITY_HOST: "login.example" });
    assert.deepEqual([...origins].sort(), ["http://127.0.0.1:8080", "https://login.example"]);
});

test("origins default to the cloud", () => {
    assert.deepEqual([...allowedOrigins({}, {})], ["https://login.microsoftonline.com"]);
    assert.deepEqual([...allowedOrigins({ cloud: "USGov" }, {})], ["https://login.microsoftonline.us"]);
    assert.deepEqual([...allowedOrigins({ cloud: "china" }, {})], ["https://login.chinacloudapi.cn"]);
    assert.deepEqual([...allowedOrigins({ cloud: "mars" }, {})], []);
});

test("authority origin rejects other schemes", () => {
    assert.equal(authorityOrigin("ftp://login.example"), undefined);
    assert.equal(authorityOrigin("custom://login.example"), undefined);
    assert.equal(authorityOrigin("https://login.example:443"), "https://login.example");
});

test("request origin drops default ports", () => {
    assert.equal(requestOrigin(fakeRequest({ tag: "HTTPS" }, "login.example:443")), "https://login.example");
    assert.equal(requestOrigin(fakeRequest({ tag: "HTTP" }, "127.0.0.1:8080")), "http://127.0.0.1:8080");
    assert.equal(requestOrigin(fakeRequest({ tag: "other", val: "custom" }, "login.example")), undefined);
    assert.equal(requestOrigin(fakeRequest(undefined, "login.example")), undefined);
});

test("handler sends allowed requests", () => {
    const inner = fakeHandler();
    const handler = restrictOutgoingHandler(inner, new Set(["http://127.0.0.1:8080"]), () => {});
    const request = fakeRequest({ tag: "HTTP" }, "127.0.0.1:8080");
    assert.equal(handler.handle(request, undefined), "future-response");
    assert.deepEqual(inner.sent, [request]);
});

test("handler rejects other origins", () => {
    const inner = fakeHandler();
    const messages = [];
    const handler = restrictOutgoingHandler(inner, new Set(["http://127.0.0.1:8080"]), (level, message) => messages.push([level, message]));
    for (const request of [
        fakeRequest({ tag: "HTTP" }, "169.254.169.254"),
        fakeRequest({ tag: "HTTPS" }, "127.0.0.1:8080"),
        fakeRequest({ tag: "HTTP" }, "127.0.0.1:8081"),
    ]) {
        assert.throws(() => handler.handle(request, undefined), (error) => error.tag === "HTTP-request-denied");
    }
    assert.deepEqual(inner.sent, []);
    assert.equal(messages.length, 3);
    assert.match(messages[0][1], /rejected an HTTP request to http:\/\/169\.254\.169\.254; allowed origins: http:\/\/127\.0\.0\.1:8080/);
});
