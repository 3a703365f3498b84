// Private: the parsers for the pieces both config shapes (and the plan's JSON form) share,
// one header per concern.
#pragma once

#include "component_config.h"
#include "lexical.h"
#include "rule_lint.h"
#include "selector_parts.h"
