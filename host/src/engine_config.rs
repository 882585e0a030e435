// Shared by the build script, which precompiles the component, and the library, which
// loads it: a precompiled component loads only into an engine with the same settings.

/// Returns the engine settings of every azauth engine.
pub fn engine_config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config
}
