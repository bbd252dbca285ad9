/*
 * bcryptprimitives.dll for Wine 8 (tests only, never shipped).
 *
 * 1. Go 1.24+ takes its random numbers from ProcessPrng in
 *    bcryptprimitives.dll, which Windows 10+ has and Debian's Wine 8
 *    lacks, so a Go program dies at start under Wine. This DLL exports
 *    ProcessPrng and fills the buffer from advapi32's RtlGenRandom
 *    (SystemFunction036), which Wine has always had.
 *
 * 2. Go 1.25+ deletes files (os.RemoveAll, so every t.TempDir cleanup)
 *    with NtSetInformationFile(FileDispositionInformationEx). Windows
 *    before 10 1607 answers STATUS_INVALID_INFO_CLASS and Go falls back
 *    to the old call; Wine 8 answers STATUS_NOT_IMPLEMENTED, which Go
 *    does not expect, so every test with a temporary directory fails.
 *    Go's runtime loads this DLL first thing, so DllMain translates that
 *    one answer by patching ntdll's NtSetInformationFile in this process.
 *    Wine's syscall thunks are 32 position-independent bytes, so a copy
 *    of the thunk serves as the original. If the thunk does not look as
 *    expected (another Wine), nothing is patched and the tests say so.
 *
 * scripts/wine.sh builds this and installs it into a private prefix.
 */
#include <windows.h>
#include <string.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
	/* RtlGenRandom takes a ULONG; fill large buffers in pieces. */
	while (length > 0) {
		ULONG n = length > 0x10000000 ? 0x10000000 : (ULONG)length;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		length -= n;
	}
	return TRUE;
}

#define FILE_DISPOSITION_INFORMATION_EX_CLASS 64
#define STATUS_NOT_IMPLEMENTED_ ((LONG)0xC0000002)
#define STATUS_INVALID_INFO_CLASS_ ((LONG)0xC0000003)
#define THUNK_SIZE 32

typedef LONG(NTAPI *set_information_file_fn)(HANDLE, PVOID, PVOID, ULONG, ULONG);
static set_information_file_fn wine_set_information_file;

static LONG NTAPI set_information_file(HANDLE file, PVOID iosb, PVOID info, ULONG length, ULONG class)
{
	LONG status = wine_set_information_file(file, iosb, info, length, class);
	if (class == FILE_DISPOSITION_INFORMATION_EX_CLASS && status == STATUS_NOT_IMPLEMENTED_)
		return STATUS_INVALID_INFO_CLASS_;
	return status;
}

/* Wine 8 x86-64: mov r10,rcx; mov eax,N; test [7ffe0308],1; jne; syscall; ret; ...; call [7ffe1000]; ret */
static BOOL is_wine_syscall_thunk(const BYTE *p)
{
	return p[0] == 0x4c && p[1] == 0x8b && p[2] == 0xd1 && p[3] == 0xb8 &&
	       p[18] == 0x0f && p[19] == 0x05 && p[24] == 0xff && p[25] == 0x14 && p[26] == 0x25 &&
	       p[31] == 0xc3;
}

static void patch_set_information_file(void)
{
	HMODULE ntdll = GetModuleHandleA("ntdll.dll");
	BYTE *target = ntdll ? (BYTE *)GetProcAddress(ntdll, "NtSetInformationFile") : NULL;
	BYTE *copy;
	DWORD old;
	UINT64 hook = (UINT64)(ULONG_PTR)set_information_file;

	if (!target || !is_wine_syscall_thunk(target))
		return;
	copy = VirtualAlloc(NULL, THUNK_SIZE, MEM_COMMIT | MEM_RESERVE, PAGE_EXECUTE_READWRITE);
	if (!copy)
		return;
	memcpy(copy, target, THUNK_SIZE);
	VirtualProtect(copy, THUNK_SIZE, PAGE_EXECUTE_READ, &old);
	wine_set_information_file = (set_information_file_fn)(void *)copy;

	if (!VirtualProtect(target, 12, PAGE_EXECUTE_READWRITE, &old))
		return;
	target[0] = 0x48; /* mov rax, hook */
	target[1] = 0xb8;
	memcpy(target + 2, &hook, 8);
	target[10] = 0xff; /* jmp rax */
	target[11] = 0xe0;
	VirtualProtect(target, 12, old, &old);
	FlushInstructionCache(GetCurrentProcess(), target, 12);
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
	(void)instance;
	(void)reserved;
	if (reason == DLL_PROCESS_ATTACH)
		patch_set_information_file();
	return TRUE;
}
