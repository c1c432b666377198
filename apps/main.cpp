#include <cstdio>
int main() { std::puts("nnlab"); return 0; }
