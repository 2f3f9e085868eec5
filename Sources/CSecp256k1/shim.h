// libsecp256k1 (Debian libsecp256k1-dev): ECDSA over secp256k1 with public-key recovery,
// for signing and checking Ethereum transactions.
#include <secp256k1.h>
#include <secp256k1_recovery.h>
