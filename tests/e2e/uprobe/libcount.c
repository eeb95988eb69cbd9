// The shared library of test_uprobe_library.sh: count_add is called a known
// number of times by libcount_main.c and, meanwhile, by libcount_other.c,
// whose calls a probe on the main program must not see. Built with and
// without -g.
#include <unistd.h>

// An SDT probe with one operand as <sys/sdt.h> would write it (the header
// is not always installed): see prog.c.
#define SDT_PROBE1(provider, name, a)                                                   \
  __asm__ __volatile__("990: nop\n"                                                     \
                       ".pushsection .note.stapsdt,\"?\",\"note\"\n"                    \
                       ".balign 4\n"                                                    \
                       ".4byte 992f-991f, 994f-993f, 3\n"                               \
                       "991: .asciz \"stapsdt\"\n"                                      \
                       "992: .balign 4\n"                                               \
                       "993: .8byte 990b\n"                                             \
                       ".8byte _.stapsdt.base\n"                                        \
                       ".8byte 0\n"                                                     \
                       ".asciz \"" #provider "\"\n"                                     \
                       ".asciz \"" #name "\"\n"                                         \
                       ".asciz \"-4@%0\"\n"                                             \
                       "994: .balign 4\n"                                               \
                       ".popsection\n"                                                  \
                       ".ifndef _.stapsdt.base\n"                                       \
                       ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
                       ".weak _.stapsdt.base\n"                                         \
                       ".hidden _.stapsdt.base\n"                                       \
                       "_.stapsdt.base: .space 1\n"                                     \
                       ".size _.stapsdt.base, 1\n"                                      \
                       ".popsection\n"                                                  \
                       ".endif\n"                                                       \
                       :                                                                \
                       : "nor"(a))

static long total;

// Calls getppid through the library's own PLT entry (.plt probes).
__attribute__((noinline)) long count_add(int n) {
  total += n;
  SDT_PROBE1(ntapcount, added, n);
  if (getppid() < 0) total = 0;
  return total;
}
