#include "agent/log_files.h"
