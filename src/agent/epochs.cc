#include "agent/epochs.h"
