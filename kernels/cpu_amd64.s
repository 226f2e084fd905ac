//go:build amd64 && !noasm

#include "textflag.h"

// func xgetbv0() (eax, edx uint32)
// XCR0, the register in which the OS says which register states it saves
// (bits 17 and 18: the AMX tile configuration and tile data). Go's
// assembler has no XGETBV mnemonic: 0F 01 D0.
TEXT ·xgetbv0(SB), NOSPLIT, $0-8
	MOVL $0, CX
	BYTE $0x0f; BYTE $0x01; BYTE $0xd0
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET
