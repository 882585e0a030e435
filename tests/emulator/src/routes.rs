//! Request routing. Each endpoint module offers a `route` function that returns a
//! response for the requests whose path it owns and `None` for the rest.

use serde::Serialize;

use crate::entra;
use crate::managed_identity;
use crate::http::{Response, path_segments};
use crate::record::RecordedRequest;
use crate::server::State;

/// A route: returns a response if the path (given as decoded segments) belongs to it.
type Route = fn(&State, &RecordedRequest, &[String]) -> Option<Response>;

/// Routes in the order they are tried. Add an endpoint module by adding its function.
const ROUTES: &[Route] = &[
    route_health,
    entra::token::route,
    entra::discovery::route,
    entra::device_code::route,
    entra::authorize::route,
    managed_identity::route,
];

/// Returns the response of the first route that owns the request's path, or a 404.
pub(crate) fn dispatch(state: &State, request: &RecordedRequest) -> Response {
    let segments = path_segments(&request.path);

    ROUTES
        .iter()
        .find_map(|route| route(state, request, &segments))
        .unwrap_or_else(|| {
            error_response(
                404,
                "not_found",
                &format!(
                    "The emulator has no endpoint for {} {}.",
                    request.method, request.path
                ),
            )
        })
}

/// Body of errors that do not come from an Entra ID endpoint.
#[derive(Serialize)]
struct PlainError<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// Creates a JSON error response in the OAuth 2.0 shape (`error`, `error_description`).
pub(crate) fn error_response(status: u16, error: &str, description: &str) -> Response {
    Response::json(
        status,
        &PlainError {
            error,
            error_description: description,
        },
    )
}

/// Creates a 405 response naming the one allowed method.
pub(crate) fn method_not_allowed(request: &RecordedRequest, allowed: &str) -> Response {
    error_response(
        405,
        "method_not_allowed",
        &format!(
            "{} {} is not supported. Use {allowed}.",
            request.method, request.path
        ),
    )
    .with_header("Allow", allowed)
}

/// `GET /health` returns 200 with the body `ok`, for scripts that wait for start-up.
fn route_health(
    _state: &State,
    request: &RecordedRequest,
    segments: &[String],
) -> Option<Response> {
    if segments != ["health"] {
        return None;
    }
    if request.method != "GET" {
        return Some(method_not_allowed(request, "GET"));
    }
    Some(Response::text(200, "ok"))
}
