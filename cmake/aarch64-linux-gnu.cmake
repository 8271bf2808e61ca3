# Cross-compiling the engine and its tests for aarch64 with Debian's g++-aarch64-linux-gnu; the
# tests run under qemu-aarch64 (qemu-user), which ctest calls through CMAKE_CROSSCOMPILING_EMULATOR.
# arm64 libraries come from Debian's multiarch packages (/usr/lib/aarch64-linux-gnu); the oneDNN
# headers from the arm64 libdnnl-dev package unpacked by scripts/setup (its dnnl_config.h differs
# from the amd64 one, so the two -dev packages cannot be installed side by side).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
