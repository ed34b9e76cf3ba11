# The last instruction is not an exit.
# type: socket
# expect: reject last insn is not an exit or jmp
    mov %r0, 0
    exit
    mov %r0, 1
