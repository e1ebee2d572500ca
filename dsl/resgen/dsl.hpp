// The resgen DSL: include this to write a network spec.
#pragma once

#include "resgen/blocks.hpp"
#include "resgen/check.hpp"
#include "resgen/network.hpp"
#include "resgen/zoo.hpp"
