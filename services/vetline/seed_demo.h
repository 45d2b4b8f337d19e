// `vetline seed-demo`: creates the demo clinics through the identity service's gRPC API
// and writes .vetline/demo.json. Running it again keeps a demo that still works.
#pragma once

namespace vetline::cli {
int SeedDemo(int argc, char** argv);
}
