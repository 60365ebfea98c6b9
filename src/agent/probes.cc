#include "agent/probes.h"
