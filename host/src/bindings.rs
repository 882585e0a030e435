//! Bindings for the custom imports and the exports of the component.
//!
//! WASI is not in this world: it comes from wasmtime-wasi and wasmtime-wasi-http.

#![expect(missing_docs, reason = "generated code")]

wasmtime::component::bindgen!({
    world: "credential-host",
    path: "../wit",
    imports: { default: async },
    exports: { default: async },
});
