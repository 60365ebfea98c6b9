#include "agent/os_process.h"
