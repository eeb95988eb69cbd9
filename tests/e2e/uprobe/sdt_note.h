// SDT probes as <sys/sdt.h> writes them (the header is not always
// installed): a nop at the probe site and a .note.stapsdt entry naming the
// provider, the probe and its operands in the note's argument syntax
// ("-4@%0 8@%1": a signed 4-byte and an unsigned 8-byte value, wherever the
// compiler put them). Shared by the traced programs of the uprobe tests.
#pragma once

#define NTAP_SDT_NOTE(provider, name, operands, ...)                                      \
  __asm__ __volatile__("990: nop\n"                                                      \
                       ".pushsection .note.stapsdt,\"?\",\"note\"\n"                     \
                       ".balign 4\n"                                                     \
                       ".4byte 992f-991f, 994f-993f, 3\n"                                \
                       "991: .asciz \"stapsdt\"\n"                                       \
                       "992: .balign 4\n"                                                \
                       "993: .8byte 990b\n"                                              \
                       ".8byte _.stapsdt.base\n"                                         \
                       ".8byte 0\n"                                                      \
                       ".asciz \"" #provider "\"\n"                                      \
                       ".asciz \"" #name "\"\n"                                          \
                       ".asciz \"" operands "\"\n"                                       \
                       "994: .balign 4\n"                                                \
                       ".popsection\n"                                                   \
                       ".ifndef _.stapsdt.base\n"                                        \
                       ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
                       ".weak _.stapsdt.base\n"                                          \
                       ".hidden _.stapsdt.base\n"                                        \
                       "_.stapsdt.base: .space 1\n"                                      \
                       ".size _.stapsdt.base, 1\n"                                       \
                       ".popsection\n"                                                   \
                       ".endif\n"                                                        \
                       :                                                                 \
                       : __VA_ARGS__)

// One int operand.
#define SDT_PROBE1(provider, name, a) NTAP_SDT_NOTE(provider, name, "-4@%0", "nor"(a))
// An int and a long.
#define SDT_PROBE2(provider, name, a, b) NTAP_SDT_NOTE(provider, name, "-4@%0 8@%1", "nor"(a), "nor"(b))
