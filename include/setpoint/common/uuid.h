// Random identifiers: RFC 4122 version-4 UUIDs for metadata.uid and the random suffixes of
// generateName. Thread-safe (a generator per thread, seeded from std::random_device).
#pragma once

#include <string>

namespace setpoint {

std::string NewUuid();
// `n` characters from Kubernetes' generateName alphabet (no vowels, no confusable digits).
std::string RandomNameSuffix(int n = 5);

}  // namespace setpoint
