// The http_gateway target with --auth required and a signed-in admin whose
// token the seeds carry (see http_gateway.cpp).
#define ORCH_FUZZ_AUTH_REQUIRED 1
#include "tests/fuzz/http_gateway.cpp"
