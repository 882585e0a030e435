//! Bindings generated from `wit/azauth.wit`. Protocol code uses the wrappers in
//! `transport`, `clock`, `log` and `process` rather than these types.

#![allow(missing_docs, reason = "generated code")]

wit_bindgen::generate!({
    world: "credential",
    path: "../wit",
    generate_all,
});
