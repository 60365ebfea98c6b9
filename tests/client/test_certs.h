// A self-signed P-256 certificate (CA:TRUE, SAN IP:127.0.0.1 and DNS:localhost) and its key,
// made once with openssl for these tests; valid until 2126.
#pragma once

namespace setpoint::client::testing {

inline constexpr const char* kTestCertPem = R"(
-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUW58n+I6e8A9pIm3xQejLkH8nC78wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNzA2Mjk0NFoYDzIxMjYxMTAz
MDYyOTQ0WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQvCPB/FdmaTdaXzda5iCM2S+zhdukOTz9NqQEe+IM6wWYxludxEJKW
pIRwmXVui5RLauxojV+efSZ2QYGn4iOFo28wbTAdBgNVHQ4EFgQUx/dcnK0ZVv0K
O2BUW5s1qXhKfigwHwYDVR0jBBgwFoAUx/dcnK0ZVv0KO2BUW5s1qXhKfigwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDRwAwRAIgXxBD2ciZ9CZ97CjWIUsMpnnGjfdo5LDC8+w4RIZ4iHkCIAvh
VVcTOGAAW+gw2N1XGPicoHTQI/HsvxIJg8pl3cLq
-----END CERTIFICATE-----
)";

inline constexpr const char* kTestKeyPem = R"(
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg/OY7yIkcE1T0YH/u
mj1k6ZvNs95FnzlvMuFtQV8ZpXuhRANCAAQvCPB/FdmaTdaXzda5iCM2S+zhdukO
Tz9NqQEe+IM6wWYxludxEJKWpIRwmXVui5RLauxojV+efSZ2QYGn4iOF
-----END PRIVATE KEY-----
)";

}  // namespace setpoint::client::testing
