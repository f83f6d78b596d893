// A small library admin over restly's react-admin views: authors, and books that reference
// an author. The API's URL comes from the page's ?api= parameter; without it the API is the
// page's own origin (the admin mounted with StaticFiles beside the views).
import React from 'react';
import { createRoot } from 'react-dom/client';
import {
    Admin,
    BulkDeleteButton,
    Create,
    Datagrid,
    Edit,
    List,
    NumberField,
    NumberInput,
    ReferenceField,
    ReferenceInput,
    Resource,
    SearchInput,
    SelectInput,
    SimpleForm,
    TextField,
    TextInput,
} from 'react-admin';
import simpleRestProvider from 'ra-data-simple-rest';

const api = new URLSearchParams(window.location.search).get('api') ?? '';
const dataProvider = simpleRestProvider(api);

// Pessimistic writes: the request goes out when the user saves or confirms (not after an undo
// delay), and a server-side validation error can reach the form's inputs.
const bulkActions = <BulkDeleteButton mutationMode="pessimistic" />;

const bookFilters = [
    <SearchInput source="q" alwaysOn />,
    <ReferenceInput source="author_id" reference="authors" alwaysOn>
        <SelectInput optionText="name" label="Author" />
    </ReferenceInput>,
];

const BookList = () => (
    <List filters={bookFilters} sort={{ field: 'id', order: 'ASC' }} debounce={100}>
        <Datagrid rowClick="edit" bulkActionButtons={bulkActions}>
            <TextField source="id" />
            <TextField source="title" />
            <NumberField source="pages" />
            <ReferenceField source="author_id" reference="authors" label="Author">
                <TextField source="name" />
            </ReferenceField>
        </Datagrid>
    </List>
);

const BookForm = () => (
    <SimpleForm>
        <TextInput source="title" />
        <NumberInput source="pages" />
        <ReferenceInput source="author_id" reference="authors">
            <SelectInput optionText="name" label="Author" />
        </ReferenceInput>
    </SimpleForm>
);

const BookEdit = () => (
    <Edit mutationMode="pessimistic">
        <BookForm />
    </Edit>
);

const BookCreate = () => (
    <Create>
        <BookForm />
    </Create>
);

const AuthorList = () => (
    <List filters={[<SearchInput source="q" alwaysOn />]} sort={{ field: 'name', order: 'ASC' }}>
        <Datagrid rowClick="edit" bulkActionButtons={bulkActions}>
            <TextField source="id" />
            <TextField source="name" />
        </Datagrid>
    </List>
);

const AuthorForm = () => (
    <SimpleForm>
        <TextInput source="name" />
    </SimpleForm>
);

const AuthorEdit = () => (
    <Edit mutationMode="pessimistic">
        <AuthorForm />
    </Edit>
);

const AuthorCreate = () => (
    <Create>
        <AuthorForm />
    </Create>
);

createRoot(document.getElementById('root')).render(
    <Admin dataProvider={dataProvider} disableTelemetry>
        <Resource name="books" list={BookList} edit={BookEdit} create={BookCreate} />
        <Resource name="authors" list={AuthorList} edit={AuthorEdit} create={AuthorCreate} />
    </Admin>
);
