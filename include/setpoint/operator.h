// Everything an operator usually needs, in one include: typed kinds and their CRDs, the
// controller builder and its typed client, the manager and RunOperator. Include the narrower
// headers instead where compile time matters.
#pragma once

#include "setpoint/runtime/client.h"
#include "setpoint/runtime/controller.h"
#include "setpoint/runtime/manager.h"
#include "setpoint/runtime/operator_main.h"
#include "setpoint/types/core_v1.h"
#include "setpoint/types/crd.h"
#include "setpoint/types/meta.h"
#include "setpoint/types/setpoint_v1alpha1.h"
