// wl-cxx-sites: two distinct leaks of a C++ program built the way
// distributions build (-O2, no frame pointers), through different call
// paths into the same allocating function (issue 11):
//   shop::checkout(long) -> shop::make_order(long) -> new Order (48 bytes)
//   shop::refund(long)   -> shop::make_order(long) -> new Order (48 bytes)
// Both orders are forgotten: valgrind reports two loss records of 48 bytes,
// definitely lost, one per call path.  A site named by its first frame
// alone (shop::make_order) would merge them.
#include <cstdio>

namespace shop {

struct Order {
	long id;
	char note[40];
};

char *volatile sink;

__attribute__((noinline)) Order *make_order(long id)
{
	Order *o = new Order();
	o->id = id;
	return o;
}

__attribute__((noinline)) void checkout(long id)
{
	Order *o = make_order(id);
	std::snprintf(o->note, sizeof o->note, "checkout %ld", id);
	sink = o->note;
	sink = nullptr;
}

__attribute__((noinline)) void refund(long id)
{
	Order *o = make_order(id + 1000);
	std::snprintf(o->note, sizeof o->note, "refund %ld", id);
	sink = o->note;
	sink = nullptr;
}

} // namespace shop

int main()
{
	shop::checkout(1);
	shop::refund(2);
	return 0;
}
