// Drive the real ra-data-simple-rest dataProvider against a restly server.
//
//   node drive.mjs http://127.0.0.1:8000/async
//
// Runs a fixed scenario over the "authors" and "posts" resources and prints one JSON object
// {step: result} on stdout; tests/test_react_admin.py asserts on it. A failed call records
// {"error": {"status", "message", "body"}} instead of a result, so error answers are checked
// too; "message" is the HttpError's, which react-admin shows to the user.
import simpleRestProvider from 'ra-data-simple-rest';

const base = process.argv[2];
if (!base) {
    console.error('usage: node drive.mjs BASE_URL');
    process.exit(2);
}
const provider = simpleRestProvider(base);
const results = {};

async function step(name, call) {
    try {
        results[name] = await call();
    } catch (error) {
        results[name] = {
            error: {
                status: error.status ?? null,
                message: error.message ?? null,
                body: error.body ?? String(error),
            },
        };
    }
}

const page = (page, perPage) => ({ page, perPage });

await step('list_by_title', () =>
    provider.getList('posts', {
        pagination: page(1, 5),
        sort: { field: 'title', order: 'ASC' },
        filter: {},
    })
);
await step('list_page_2_by_views_desc', () =>
    provider.getList('posts', {
        pagination: page(2, 5),
        sort: { field: 'views', order: 'DESC' },
        filter: {},
    })
);
await step('list_search', () =>
    provider.getList('posts', {
        pagination: page(1, 25),
        sort: { field: 'id', order: 'ASC' },
        filter: { q: 'REACT admin' },
    })
);
await step('list_filtered', () =>
    provider.getList('posts', {
        pagination: page(1, 25),
        sort: { field: 'id', order: 'DESC' },
        filter: { published: true, views_gte: 10 },
    })
);
await step('list_beyond_the_end', () =>
    provider.getList('posts', {
        pagination: page(9, 25),
        sort: { field: 'id', order: 'ASC' },
        filter: {},
    })
);
await step('get_one', () => provider.getOne('posts', { id: 3 }));
await step('get_many', () => provider.getMany('posts', { ids: [5, 1, 3] }));
await step('get_many_reference', () =>
    provider.getManyReference('posts', {
        target: 'author_id',
        id: 2,
        pagination: page(1, 2),
        sort: { field: 'title', order: 'DESC' },
        filter: {},
    })
);
await step('create', () =>
    provider.create('posts', {
        data: { title: 'Fresh post', views: 1, published: false, author_id: 1 },
    })
);
await step('update', () =>
    provider.update('posts', {
        id: 2,
        data: { id: 2, title: 'Renamed', views: 70, published: true, author_id: 1 },
        previousData: { id: 2 },
    })
);
await step('update_many', () =>
    provider.updateMany('posts', { ids: [3, 4], data: { views: 0 } })
);
await step('after_updates', () =>
    provider.getMany('posts', { ids: [2, 3, 4] })
);
await step('delete', () => provider.delete('posts', { id: 5, previousData: { id: 5 } }));
await step('delete_many', () => provider.deleteMany('posts', { ids: [4, 6] }));
await step('after_deletes', () =>
    provider.getList('posts', {
        pagination: page(1, 25),
        sort: { field: 'id', order: 'ASC' },
        filter: {},
    })
);
await step('authors_by_name', () =>
    provider.getList('authors', {
        pagination: page(1, 10),
        sort: { field: 'name', order: 'ASC' },
        filter: {},
    })
);
await step('get_one_missing', () => provider.getOne('posts', { id: 999 }));
await step('unknown_filter_field', () =>
    provider.getList('posts', {
        pagination: page(1, 10),
        sort: { field: 'id', order: 'ASC' },
        filter: { colour: 'red' },
    })
);
await step('delete_missing', () => provider.delete('posts', { id: 999, previousData: { id: 999 } }));
await step('create_invalid', () => provider.create('posts', { data: { views: 'many' } }));

console.log(JSON.stringify(results));
