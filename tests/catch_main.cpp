// The one Catch2 main shared by every test program of tests/unit, reference and integration.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
