// wl-cxx: C++ new/delete through libmpa-preload.so's operator hooks.
//   mpa_wl_cxx: new Obj (48 bytes) + delete; new int[100] (400 bytes) +
//   delete[]; an impossible new that throws std::bad_alloc (caught); then
//   new char[555] + delete[] (must be traced: the hook's guard was reset).
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

struct Obj {
	long v[6];
};

void *volatile wl_sink;

__attribute__((noinline)) int mpa_wl_cxx()
{
	int caught = 0;
	Obj *o = new Obj();
	o->v[0] = 1;
	wl_sink = o;
	delete o;

	int *a = new int[100];
	std::memset(a, 0, 400);
	wl_sink = a;
	delete[] a;

	try {
		size_t huge = (size_t)1 << 62;
		char *h = new char[huge];
		wl_sink = h;
	} catch (const std::bad_alloc &) {
		caught = 1;
	}

	char *c = new char[555];
	std::memset(c, 1, 555);
	wl_sink = c;
	delete[] c;
	return caught;
}

int main()
{
	return mpa_wl_cxx() == 1 ? 0 : 1;
}
